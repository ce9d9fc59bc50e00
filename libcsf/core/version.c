/* The version of the library that is loaded. */
#include "core/internal.h"

const char *csf_version(int *num)
{
	if (num)
		*num = CSF_VERSION_NUM;
	return CSF_VERSION;
}
