# doc: see ../Makefile.am
dist_doc_DATA += doc/config.md
dist_doc_DATA += doc/engine.md
EXTRA_DIST += doc/tls-auth.md doc/greylisting.md
