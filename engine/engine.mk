# engine/: the transaction engine (engine.h): the step driver and its
# steps.  Its own fragment until issue 13's layout gives engine/ one
# local.mk; built into moatd for now (the steps call proxy/policy.c and
# proxy/bayes_live.c, which moatd holds).
ENGINE_SOURCES = engine/engine.c engine/engine.h engine/eng_steps.h \
	engine/eng_rate.c engine/eng_grey.c engine/eng_rules.c \
	engine/eng_dns.c engine/eng_bayes.c
moatd_SOURCES += $(ENGINE_SOURCES)
# moatctl scan runs the DATA stage with the null io (engine.h).
moatctl_SOURCES += $(ENGINE_SOURCES) proxy/dns.c proxy/bayes_live.c
