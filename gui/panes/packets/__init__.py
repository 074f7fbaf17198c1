"""The Packets pane: the conversation's packets (:mod:`.model`), the clicked one's dissection tree
from the engine, and its hex dump (:mod:`.hex_view`)."""
