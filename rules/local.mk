# rules: see ../Makefile.am
