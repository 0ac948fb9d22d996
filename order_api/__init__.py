"""Reference central order API: the executable contract Floorhand's client syncs with."""
