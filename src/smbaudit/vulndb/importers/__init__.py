"""One importer per upstream format; `detect` tells them apart by content, not by file name."""
