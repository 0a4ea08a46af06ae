# Unit tests (cmocka), no sockets, no clock.  Each test is added to
# UNIT_TESTS; they link the pure libraries only.
UNIT_TESTS =
UNIT_LIBS = libconf.a libengine.a libsmtp.a libcommon.a $(CMOCKA_LIBS) \
	$(PTHREAD_LIBS)
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
# unit tests: the session state machine table
UNIT_TESTS += test_smtp_fsm
test_smtp_fsm_SOURCES = tests/unit/test_smtp_fsm.c
test_smtp_fsm_CFLAGS = $(TEST_CFLAGS)
test_smtp_fsm_LDADD = $(UNIT_LIBS)

# unit tests: moatd's policy glue (header edits, thresholds)
UNIT_TESTS += test_policy
test_policy_SOURCES = tests/unit/test_policy.c
test_policy_CFLAGS = $(TEST_CFLAGS) $(PCRE2_CFLAGS)
test_policy_LDADD = $(ENGINE_LIBS) $(SAUTH_LIBS) $(LMDB_LIBS) $(MATH_LIBS) $(PCRE2_LIBS) $(HS_LIBS) $(HIREDIS_LIBS) $(LIBEVENT_LIBS) \
	$(CMOCKA_LIBS) $(PTHREAD_LIBS)
# unit tests: smtp
UNIT_TESTS += test_smtp_line test_smtp_cmd test_smtp_reply
test_smtp_line_SOURCES = tests/unit/test_smtp_line.c
test_smtp_line_CFLAGS = $(TEST_CFLAGS)
test_smtp_line_LDADD = $(UNIT_LIBS)
test_smtp_cmd_SOURCES = tests/unit/test_smtp_cmd.c
test_smtp_cmd_CFLAGS = $(TEST_CFLAGS)
test_smtp_cmd_LDADD = $(UNIT_LIBS)
test_smtp_reply_SOURCES = tests/unit/test_smtp_reply.c
test_smtp_reply_CFLAGS = $(TEST_CFLAGS)
test_smtp_reply_LDADD = $(UNIT_LIBS)
UNIT_TESTS += test_smtp_esmtp
test_smtp_esmtp_SOURCES = tests/unit/test_smtp_esmtp.c
test_smtp_esmtp_CFLAGS = $(TEST_CFLAGS)
test_smtp_esmtp_LDADD = $(UNIT_LIBS)
UNIT_TESTS += test_relay
test_relay_SOURCES = tests/unit/test_relay.c
test_relay_CFLAGS = $(TEST_CFLAGS)
test_relay_LDADD = $(UNIT_LIBS)
# unit tests: data
UNIT_TESTS += test_smtp_data test_proxy_proto
test_smtp_data_SOURCES = tests/unit/test_smtp_data.c
test_smtp_data_CFLAGS = $(TEST_CFLAGS)
test_smtp_data_LDADD = $(UNIT_LIBS)
test_proxy_proto_SOURCES = tests/unit/test_proxy_proto.c
test_proxy_proto_CFLAGS = $(TEST_CFLAGS)
test_proxy_proto_LDADD = $(UNIT_LIBS)
UNIT_TESTS += test_smtp_bdat
test_smtp_bdat_SOURCES = tests/unit/test_smtp_bdat.c
test_smtp_bdat_CFLAGS = $(TEST_CFLAGS)
test_smtp_bdat_LDADD = $(UNIT_LIBS)
# unit tests: config, log, netaddr
UNIT_TESTS += test_config test_log test_netaddr
test_config_SOURCES = tests/unit/test_config.c
test_config_CFLAGS = $(TEST_CFLAGS)
test_config_LDADD = $(UNIT_LIBS)
test_log_SOURCES = tests/unit/test_log.c
test_log_CFLAGS = $(TEST_CFLAGS)
test_log_LDADD = $(UNIT_LIBS)
test_netaddr_SOURCES = tests/unit/test_netaddr.c
test_netaddr_CFLAGS = $(TEST_CFLAGS)
test_netaddr_LDADD = $(UNIT_LIBS)
# unit tests: msg
UNIT_TESTS += test_msg
test_msg_SOURCES = tests/unit/test_msg.c
test_msg_CFLAGS = $(TEST_CFLAGS)
test_msg_LDADD = $(RULES_LIBS) $(CMOCKA_LIBS)
# unit tests: engine (rules/rule_*.c, scoring/score.c)
ENGINE_TEST_LIBS = libscoring.a $(RULES_LIBS) $(CMOCKA_LIBS) $(PTHREAD_LIBS)
UNIT_TESTS += test_rule_load test_rule_eval test_rule_hs test_score
test_rule_load_SOURCES = tests/unit/test_rule_load.c
test_rule_load_CFLAGS = $(TEST_CFLAGS)
test_rule_load_LDADD = $(ENGINE_TEST_LIBS)
test_rule_eval_SOURCES = tests/unit/test_rule_eval.c
test_rule_eval_CFLAGS = $(TEST_CFLAGS)
test_rule_eval_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
test_rule_eval_LDADD = $(ENGINE_TEST_LIBS)
test_rule_hs_SOURCES = tests/unit/test_rule_hs.c
test_rule_hs_CFLAGS = $(TEST_CFLAGS) $(PCRE2_CFLAGS) $(HS_CFLAGS)
test_rule_hs_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/rules
test_rule_hs_LDADD = $(ENGINE_TEST_LIBS)
test_score_SOURCES = tests/unit/test_score.c
test_score_CFLAGS = $(TEST_CFLAGS)
test_score_LDADD = $(ENGINE_TEST_LIBS)
EXTRA_DIST += tests/unit/tmpdir.h tests/unit/data/engine/sample-spam.txt \
	tests/unit/data/engine/sample-nonspam.txt
# SpamAssassin's evals, natively (rules/rule_saeval*.c)
UNIT_TESTS += test_rule_saeval
test_rule_saeval_SOURCES = tests/unit/test_rule_saeval.c
test_rule_saeval_CFLAGS = $(TEST_CFLAGS)
test_rule_saeval_LDADD = $(ENGINE_TEST_LIBS)
# unit tests: greylisting (scoring/greylist.c) and the memory store
# (store/store_mem.c); the store driver for tests/integration/test_store_redis.py.
UNIT_TESTS += test_greylist test_store_mem
test_greylist_SOURCES = tests/unit/test_greylist.c
test_greylist_CFLAGS = $(TEST_CFLAGS)
test_greylist_LDADD = libscoring.a $(CMOCKA_LIBS)
test_store_mem_SOURCES = tests/unit/test_store_mem.c
test_store_mem_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS)
test_store_mem_LDADD = $(STORE_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += store_driver
store_driver_SOURCES = tests/store_driver.c
store_driver_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(HIREDIS_CFLAGS)
store_driver_LDADD = $(STORE_LIBS)
UNIT_TESTS += test_store_cfg
test_store_cfg_SOURCES = tests/unit/test_store_cfg.c
test_store_cfg_CFLAGS = $(TEST_CFLAGS)
test_store_cfg_LDADD = libstore.a $(CONF_LIBS) $(STORE_LIBS) $(CMOCKA_LIBS)
# unit tests: TLS/AUTH (issue 5)
UNIT_TESTS += test_sasl test_passwd test_sender_map test_tls
test_sasl_SOURCES = tests/unit/test_sasl.c
test_sasl_CFLAGS = $(TEST_CFLAGS)
test_sasl_LDADD = libauth.a $(UNIT_LIBS)
test_passwd_SOURCES = tests/unit/test_passwd.c
test_passwd_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS)
test_passwd_LDADD = $(AUTH_LIBS) $(CMOCKA_LIBS)
test_sender_map_SOURCES = tests/unit/test_sender_map.c
test_sender_map_CFLAGS = $(TEST_CFLAGS)
test_sender_map_LDADD = libauth.a $(UNIT_LIBS)
test_tls_SOURCES = tests/unit/test_tls.c proxy/tls.c proxy/tls.h
test_tls_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS)
test_tls_LDADD = $(AUTH_LIBS) $(CMOCKA_LIBS)
# privilege separation's file bundle (issue 17)
UNIT_TESTS += test_filesrc
test_filesrc_SOURCES = tests/unit/test_filesrc.c
test_filesrc_CFLAGS = $(TEST_CFLAGS)
test_filesrc_LDADD = $(UNIT_LIBS)
# unit tests: the Bayes tokenizer and combiner (test_bayes), the LMDB
# store (test_bayes_db)
UNIT_TESTS += test_bayes test_bayes_db
test_bayes_SOURCES = tests/unit/test_bayes.c
test_bayes_CFLAGS = $(TEST_CFLAGS)
test_bayes_LDADD = libscoring.a $(RULES_LIBS) $(MATH_LIBS) $(CMOCKA_LIBS)
test_bayes_db_SOURCES = tests/unit/test_bayes_db.c
test_bayes_db_CFLAGS = $(TEST_CFLAGS)
test_bayes_db_LDADD = $(BAYES_LIBS) $(PCRE2_LIBS) $(HS_LIBS) $(CMOCKA_LIBS)
# the token index behind the LMDB store (test_bayes_idx)
UNIT_TESTS += test_bayes_idx
test_bayes_idx_SOURCES = tests/unit/test_bayes_idx.c
test_bayes_idx_CFLAGS = $(TEST_CFLAGS)
test_bayes_idx_LDADD = $(BAYES_LIBS) $(PCRE2_LIBS) $(HS_LIBS) $(CMOCKA_LIBS) \
	$(PTHREAD_LIBS)
# unit tests: sender authentication (engine/sauth_ar.c, issue 16): result
# -> facts -> rules/auth.rules, Authentication-Results, DNS list syntax.
UNIT_TESTS += test_sauth
test_sauth_SOURCES = tests/unit/test_sauth.c
test_sauth_CFLAGS = $(TEST_CFLAGS)
test_sauth_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
test_sauth_LDADD = libengine.a $(ENGINE_TEST_LIBS)
# The pool (engine/sauth_pool.c) against a resolver that never answers: a
# UDP socket on loopback; about 4 s.
UNIT_TESTS += test_sauth_pool
test_sauth_pool_SOURCES = tests/unit/test_sauth_pool.c
test_sauth_pool_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS)
test_sauth_pool_LDADD = libengine.a libcommon.a $(SAUTH_LIBS) \
	$(LIBEVENT_LIBS) $(CMOCKA_LIBS) $(PTHREAD_LIBS)
# unit test: proxy/metrics.c, the exposition and the lock-free table.
UNIT_TESTS += test_metrics
test_metrics_SOURCES = tests/unit/test_metrics.c proxy/metrics.c proxy/metrics.h
test_metrics_CFLAGS = $(TEST_CFLAGS)
test_metrics_LDADD = libscoring.a libcommon.a $(CMOCKA_LIBS) \
	$(MATH_LIBS) $(PTHREAD_LIBS)
if HAVE_CMOCKA
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
endif
# The bounded job pool (common/jobpool.c) shared by passwd.c and
# sauth_pool.c: bound, cancel, completion on the loop, shutdown.
UNIT_TESTS += test_jobpool
test_jobpool_SOURCES = tests/unit/test_jobpool.c
test_jobpool_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS)
test_jobpool_LDADD = libcommon.a $(LIBEVENT_LIBS) -levent_pthreads \
	$(CMOCKA_LIBS) $(PTHREAD_LIBS)
# The leaves below moatd's session: AUTH glue, greylist replay (issue 13).
UNIT_TESTS += test_sess_leaves
test_sess_leaves_SOURCES = tests/unit/test_sess_leaves.c \
	proxy/sess_auth.c proxy/sess_replay.c
test_sess_leaves_CFLAGS = $(TEST_CFLAGS)
test_sess_leaves_LDADD = $(UNIT_LIBS)
# The engine's step driver through real steps (issue 13): a stage decided
# at once, one that waits for the memory store, a cancel.
UNIT_TESTS += test_engine
test_engine_SOURCES = tests/unit/test_engine.c
test_engine_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS) $(PCRE2_CFLAGS)
test_engine_LDADD = $(ENGINE_LIBS) $(RULES_LIBS) $(LMDB_LIBS) $(MATH_LIBS) \
	$(HIREDIS_LIBS) $(LIBEVENT_LIBS) libcommon.a $(CMOCKA_LIBS) \
	$(PTHREAD_LIBS)
# libengine.a holds engine/eng_sauth.c: libspf2, libopendkim, ...
test_engine_LDADD += $(SAUTH_LIBS)
# moatd's snapshot (proxy/snapshot.c): config, rules, TLS and AUTH files
# built, counted and swapped as one.
UNIT_TESTS += test_snapshot
test_snapshot_SOURCES = tests/unit/test_snapshot.c
test_snapshot_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS) $(PCRE2_CFLAGS) \
	$(OPENSSL_CFLAGS)
test_snapshot_LDADD = libdaemon.a $(ENGINE_LIBS) $(SAUTH_LIBS) $(PCRE2_LIBS) $(HS_LIBS) \
	$(HIREDIS_LIBS) $(LMDB_LIBS) $(OPENSSL_LIBS) $(LIBEVENT_LIBS) \
	-levent_pthreads $(CRYPT_LIBS) $(MATH_LIBS) $(CMOCKA_LIBS) \
	$(PTHREAD_LIBS)
