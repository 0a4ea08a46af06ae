# doc: see ../Makefile.am
