"""Writing results out: the conversation list (:mod:`.conversations`: JSON, CSV, text table),
a Follow stream (:mod:`.follow`: raw, hex, ASCII, C arrays, YAML) and a conversation's packets
(:mod:`.packets`: pcap/pcapng). Every file is written atomically (:mod:`engine.atomic`)."""
