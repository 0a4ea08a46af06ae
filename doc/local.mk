# doc: see ../Makefile.am
dist_doc_DATA += doc/config.md
