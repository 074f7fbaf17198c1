"""The conversation table: the engine's columns prepared for views (:mod:`.data`), the columns
as the table shows them (:mod:`.columns`, read from the engine's column registry), the Qt model
(:mod:`.model`, sorted with numpy), the view with its column chooser (:mod:`.view`), the filter
box (:mod:`.filter_bar`, :mod:`.filter`) and Export Conversations (:mod:`.export`)."""
