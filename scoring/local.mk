# scoring/: libscoring.a, the score card and verdicts.  Pure.
noinst_LIBRARIES += libscoring.a
libscoring_a_SOURCES = scoring/score.h scoring/score.c scoring/score_rules.c
# greylisting: triplets, keys, the policy (owned by the greylist module)
libscoring_a_SOURCES += scoring/greylist.h scoring/greylist.c
# the Bayes combiner: token counts -> probability (scoring/bayes.h)
libscoring_a_SOURCES += scoring/bayes.h scoring/bayes.c
