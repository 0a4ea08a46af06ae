# proxy/metrics.*: counters (pure, in libproxy.a for the unit test) and the
# metrics_listen HTTP endpoint (moatd only, needs libevent).
libproxy_a_SOURCES += proxy/metrics.c proxy/metrics.h
moatd_SOURCES += proxy/metrics_http.c
