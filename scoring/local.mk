# scoring: see ../Makefile.am
