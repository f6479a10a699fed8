"""Course content: reading courses written in LibreLingo's YAML format into plain specs."""
