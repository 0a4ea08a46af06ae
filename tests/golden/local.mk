# Golden SMTP transcripts (tests/golden/README.md): each case file is one
# test, played by run.py against the built moatd with a scripted backend
# and the memory store.  No root, no Postfix, no Redis, no resolver: they
# run in every make check.  A new case is a new file listed here.
GOLDEN_TESTS = \
	tests/golden/cases/auth_backend.smtp \
	tests/golden/cases/auth_fail.smtp \
	tests/golden/cases/auth_fail_limit.smtp \
	tests/golden/cases/auth_login.smtp \
	tests/golden/cases/auth_login_initial.smtp \
	tests/golden/cases/auth_plain_tls.smtp \
	tests/golden/cases/backend_421_after_data.smtp \
	tests/golden/cases/backend_421_mid_rcpt.smtp \
	tests/golden/cases/backend_banner_421.smtp \
	tests/golden/cases/backend_close_after_mail.smtp \
	tests/golden/cases/backend_data_4xx.smtp \
	tests/golden/cases/backend_data_5xx.smtp \
	tests/golden/cases/backend_down.smtp \
	tests/golden/cases/backend_eod_4xx.smtp \
	tests/golden/cases/backend_eod_5xx.smtp \
	tests/golden/cases/backend_mail_4xx.smtp \
	tests/golden/cases/backend_mail_5xx.smtp \
	tests/golden/cases/backend_mail_refused_rset.smtp \
	tests/golden/cases/backend_rcpt.smtp \
	tests/golden/cases/bare_lf_data.smtp \
	tests/golden/cases/bound_commands.smtp \
	tests/golden/cases/bound_data_line.smtp \
	tests/golden/cases/bound_errors.smtp \
	tests/golden/cases/bound_line_length.smtp \
	tests/golden/cases/bound_line_no_eol.smtp \
	tests/golden/cases/bound_recipients.smtp \
	tests/golden/cases/bound_sessions.smtp \
	tests/golden/cases/bound_sessions_per_ip.smtp \
	tests/golden/cases/bound_size.smtp \
	tests/golden/cases/bound_timeout.smtp \
	tests/golden/cases/bound_timeout_data.smtp \
	tests/golden/cases/deliver_local.smtp \
	tests/golden/cases/greylist_replay.smtp \
	tests/golden/cases/greylist_retry.smtp \
	tests/golden/cases/half_close.smtp \
	tests/golden/cases/pipelining.smtp \
	tests/golden/cases/pregreet.smtp \
	tests/golden/cases/ratelimit_conn.smtp \
	tests/golden/cases/ratelimit_msg.smtp \
	tests/golden/cases/ratelimit_rcpt.smtp \
	tests/golden/cases/ratelimit_user.smtp \
	tests/golden/cases/received_header.smtp \
	tests/golden/cases/relay_foreign.smtp \
	tests/golden/cases/relay_tricks.smtp \
	tests/golden/cases/relay_trusted.smtp \
	tests/golden/cases/rset_transactions.smtp \
	tests/golden/cases/rules_verdicts.smtp \
	tests/golden/cases/spool_spill.smtp \
	tests/golden/cases/starttls_injection.smtp \
	tests/golden/cases/starttls_resets.smtp \
	tests/golden/cases/tls_required.smtp \
	tests/golden/cases/trace_states.smtp

TESTS += $(GOLDEN_TESTS)
TEST_EXTENSIONS += .smtp
SMTP_LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/golden/run.sh
# TAP, so that a case marked xfail counts as XFAIL (and XPASS fails).
SMTP_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) \
	$(top_srcdir)/build-aux/tap-driver.sh
EXTRA_DIST += $(GOLDEN_TESTS) \
	tests/golden/run.py \
	tests/golden/run.sh \
	tests/golden/README.md

# Only the golden transcripts (moatd is built first by check).
.PHONY: golden
golden:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(GOLDEN_TESTS)"
