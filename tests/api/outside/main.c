/* A program outside the tree, built against the installed libcsf. */
#include <stdio.h>
#include <string.h>

#include <csf/csf.h>

#if !CSF_VERSION_CHECK(0, 1, 0)
#error "libcsf headers are too old"
#endif

int main(void)
{
	csf_collector *c = NULL;
	csf_snapshot *s = NULL;
	char *json = NULL;
	int num = 0, rc;

	if (strcmp(csf_version(&num), CSF_VERSION) != 0 || num != CSF_VERSION_NUM) {
		fprintf(stderr, "header/library version mismatch\n");
		return 1;
	}
	rc = csf_collector_new(&c, csf_collector_system(), NULL);
	if (!rc)
		rc = csf_snapshot_new(&s);
	if (!rc)
		rc = csf_collector_collect(c, s);
	if (!rc)
		rc = csf_snapshot_to_json(&json, NULL, s);
	if (rc) {
		fprintf(stderr, "%s: %s\n", csf_strerror(rc), csf_error_last()->message);
		return 1;
	}
	printf("ok libcsf %s, %u cpus, %zu bytes of JSON\n", csf_version(NULL),
	       s->system->host->cpu_logical, strlen(json));
	csf_free(json);
	csf_snapshot_free(s);
	csf_collector_free(c);
	return 0;
}
