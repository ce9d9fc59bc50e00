/* Assertions on libcsf's int return codes for cmocka tests: on failure they
 * name the expression, the code and csf_error_last()'s message. Include after
 * <cmocka.h> and <csf/csf.h>. */
#ifndef CSF_TEST_CHECK_H
#define CSF_TEST_CHECK_H

#define OK(expr)                                                                          \
	do {                                                                              \
		int rc_ = (expr);                                                         \
		if (rc_ != 0)                                                             \
			fail_msg("%s -> %d (%s)", #expr, rc_, csf_error_last()->message); \
	} while (0)

#define FAILS(code, expr)                                                                      \
	do {                                                                                   \
		int rc_ = (expr);                                                              \
		if (rc_ != (code))                                                             \
			fail_msg("%s -> %d, wanted %d (%s)", #expr, rc_, (code),               \
				 csf_error_last()->message);                                   \
	} while (0)

#endif
