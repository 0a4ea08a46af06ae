# tests/integration: see ../Makefile.am
