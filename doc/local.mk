# doc: see ../Makefile.am
dist_doc_DATA += doc/config.md
dist_doc_DATA += doc/engine.md
