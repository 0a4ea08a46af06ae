# bench: see ../Makefile.am
