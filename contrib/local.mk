# contrib: see ../Makefile.am
EXTRA_DIST += contrib/moat.conf
