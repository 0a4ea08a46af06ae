# config, log, netaddr
libproxy_a_SOURCES += proxy/config.h proxy/log.h proxy/netaddr.h
