"""The Stream pane (Follow): the conversation's bytes as text or hex, drawn line by line as they
scroll into view (:mod:`.view`, :mod:`.layout`, :mod:`.text`), with find (:mod:`.search`), copy
(:mod:`.copy`) and Export Stream (:mod:`.export`)."""
