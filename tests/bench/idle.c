/* The footprint baselines for csf-agent (tests/bench/footprint.sh): a
 * program built and linked like the agent that does nothing but sleep, or,
 * with --print, prints one line first (the baseline PLATFORM-NOTES.md's
 * footprint table uses: "a small program that prints one line"). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--print") == 0) {
		printf("idle %s %.1f\n", "baseline", 1.0);
		fflush(stdout);
	}
	for (;;)
		pause();
}
