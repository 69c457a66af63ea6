/* tcstats: an LD_PRELOAD probe for dealdeskd's heap during a soak. Not a
 * bench program (bench/soak/ is not in the CMake glob); build it with
 *
 *   cc -O2 -shared -fPIC -o build-bench/tcstats.so bench/soak/tcstats.c -ldl -lpthread
 *
 * and run the server with it, e.g.
 *
 *   TCSTATS_FILE=/tmp/tc.log SERVER_WRAPPER="env LD_PRELOAD=$PWD/build-bench/tcstats.so" \
 *       bench/run --soak 3
 *
 * (the variables reach cmake and bench_loadgen too; the probe only starts
 * in a process named dealdeskd). Every TCSTATS_INTERVAL seconds [5] it
 * appends one line to TCSTATS_FILE:
 *
 *   t_s rss_kB allocated heap pageheap_free pageheap_unmapped thread_caches central_free
 *       transfer_free threads
 *
 * the numbers (bytes, but rss) from tcmalloc's MallocExtension: allocated is
 * what the program holds (malloc'd and not freed), heap what tcmalloc took
 * from the OS, and the free/cache figures the part of it that is free but
 * still mapped (RSS without being in use). With glibc malloc, where there is
 * no MallocExtension, it writes mallinfo2's uordblks (allocated) and arena +
 * hblkhd (heap) and fordblks (free in the heap) instead, zeros for the rest.
 * threads is the process's thread count. At exit (a destructor), and every
 * TCSTATS_REPORT_EVERY seconds if that is set, it appends tcmalloc's own
 * text report (per size class).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*getprop_fn)(const char *, size_t *);
typedef void (*getstats_fn)(char *, int);

static getprop_fn getprop;
static const char *out_path;
static double interval_s = 5;
static double report_every_s; /* TCSTATS_REPORT_EVERY: full report this often */

static void report(FILE *f, const char *when)
{
	getstats_fn getstats = (getstats_fn)dlsym(RTLD_DEFAULT, "MallocExtension_GetStats");
	if (getstats != NULL) {
		static char buf[1 << 16];
		getstats(buf, sizeof(buf));
		fprintf(f, "# tcmalloc report %s:\n%s# end of report\n", when, buf);
	}
}

static size_t prop(const char *name)
{
	size_t v = 0;
	if (getprop != NULL && !getprop(name, &v))
		return 0;
	return v;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f != NULL && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	if (f != NULL)
		fclose(f);
	return v;
}

static int nthreads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sample(double t0)
{
	FILE *f = fopen(out_path, "a");
	if (f == NULL)
		return;
	if (getprop != NULL) {
		fprintf(f, "%.1f %ld %zu %zu %zu %zu %zu %zu %zu %d\n", mono_s() - t0, rss_kb(),
		        prop("generic.current_allocated_bytes"), prop("generic.heap_size"),
		        prop("tcmalloc.pageheap_free_bytes"),
		        prop("tcmalloc.pageheap_unmapped_bytes"),
		        prop("tcmalloc.current_total_thread_cache_bytes"),
		        prop("tcmalloc.central_cache_free_bytes"),
		        prop("tcmalloc.transfer_cache_free_bytes"), nthreads());
	} else {
		struct mallinfo2 mi = mallinfo2();
		fprintf(f, "%.1f %ld %zu %zu %zu 0 0 0 0 %d\n", mono_s() - t0, rss_kb(), mi.uordblks,
		        mi.arena + mi.hblkhd, mi.fordblks, nthreads());
	}
	fclose(f);
}

static void *probe(void *arg)
{
	(void)arg;
	double t0 = mono_s(), next_report = report_every_s;
	for (;;) {
		sample(t0);
		if (report_every_s > 0 && mono_s() - t0 >= next_report) {
			FILE *f = fopen(out_path, "a");
			if (f != NULL) {
				char when[32];
				snprintf(when, sizeof(when), "at %.0f s", mono_s() - t0);
				report(f, when);
				fclose(f);
			}
			next_report += report_every_s;
		}
		struct timespec ts = { (time_t)interval_s,
		                       (long)((interval_s - (double)(time_t)interval_s) * 1e9) };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int is_dealdeskd(void)
{
	char comm[64] = "";
	FILE *f = fopen("/proc/self/comm", "r");
	if (f == NULL)
		return 0;
	if (fgets(comm, sizeof(comm), f) == NULL)
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "dealdeskd", 9) == 0;
}

__attribute__((constructor)) static void tcstats_start(void)
{
	out_path = getenv("TCSTATS_FILE");
	if (out_path == NULL || !is_dealdeskd())
		return;
	const char *iv = getenv("TCSTATS_INTERVAL");
	if (iv != NULL && atof(iv) > 0)
		interval_s = atof(iv);
	const char *re = getenv("TCSTATS_REPORT_EVERY");
	if (re != NULL && atof(re) > 0)
		report_every_s = atof(re);
	getprop = (getprop_fn)dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty");
	FILE *f = fopen(out_path, "a");
	if (f != NULL) {
		fprintf(f, "# pid %d, %s (max_total_thread_cache_bytes %zu); t_s rss_kB allocated heap "
		        "pageheap_free pageheap_unmapped thread_caches central_free transfer_free "
		        "threads\n", (int)getpid(),
		        getprop ? "tcmalloc" : "glibc malloc (mallinfo2: uordblks, arena+hblkhd, fordblks)",
		        prop("tcmalloc.max_total_thread_cache_bytes"));
		fclose(f);
	}
	/* the probe must not take the signals dealdeskd waits for in sigwait:
	 * it starts with everything blocked */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t t;
	pthread_create(&t, NULL, probe, NULL);
	pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

__attribute__((destructor)) static void tcstats_stop(void)
{
	if (out_path == NULL || !is_dealdeskd())
		return;
	FILE *f = fopen(out_path, "a");
	if (f == NULL)
		return;
	report(f, "at exit");
	fclose(f);
}
