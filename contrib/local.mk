# contrib: see ../Makefile.am
