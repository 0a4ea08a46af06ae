# tools: see ../Makefile.am
