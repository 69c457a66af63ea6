/* xthread: an LD_PRELOAD probe (tcmalloc's MallocHook) that asks, for heap
 * blocks of one size range, which thread allocates them, which thread frees
 * them, and from where they are allocated. A block freed by another thread
 * than the one that allocated it ends up in the freeing thread's tcmalloc
 * cache, which is how thread caches grow while the program's own heap stays
 * flat. Not a bench program; build and run:
 *
 *   cc -O2 -shared -fPIC -o build-bench/xthread.so bench/soak/xthread.c -ldl -lpthread
 *   XTHREAD_FILE=/tmp/x.txt XTHREAD_MIN=10241 XTHREAD_MAX=12288 \
 *       LD_PRELOAD=$PWD/build-bench/xthread.so build-bench/dealdeskd ...
 *
 * Only in a process named dealdeskd. The report is written at exit: per
 * thread (name, allocations, frees, frees of blocks another thread
 * allocated) and the commonest allocation stacks of a 1-in-XTHREAD_SAMPLE
 * [200] sample.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef int (*add_new_fn)(void (*)(const void *, size_t));
typedef int (*add_delete_fn)(void (*)(const void *));

#define SLOTS (1u << 18)
#define MAX_THREADS 128
#define DEPTH 10
#define MAX_SAMPLES 4096

static size_t lo = 10241, hi = 12288;
static unsigned sample_every = 200;
static const char *out_path;
static atomic_flag lock = ATOMIC_FLAG_INIT;
static __thread int in_hook;

static struct { uintptr_t p; int tid; } table[SLOTS];
static struct { int tid; char name[16]; uint64_t allocs, frees, cross; } threads[MAX_THREADS];
static int nthreads;
static uint64_t nallocs, nfrees, ncross;
static void *samples[MAX_SAMPLES][DEPTH];
static int sample_depth[MAX_SAMPLES];
static int nsamples;

static int thread_slot(int tid)
{
	for (int i = 0; i < nthreads; i++)
		if (threads[i].tid == tid)
			return i;
	if (nthreads == MAX_THREADS)
		return MAX_THREADS - 1;
	int i = nthreads++;
	threads[i].tid = tid;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, threads[i].name, sizeof(threads[i].name) - 1);
		if (n > 0 && threads[i].name[n - 1] == '\n')
			n--;
		threads[i].name[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	return i;
}

static unsigned slot_of(uintptr_t p)
{
	return (unsigned)((p >> 4) * 0x9E3779B97F4A7C15ull >> 46) & (SLOTS - 1);
}

static void on_new(const void *ptr, size_t size)
{
	if (ptr == NULL || size < lo || size > hi || in_hook)
		return;
	in_hook = 1;
	int tid = (int)syscall(SYS_gettid);
	void *bt[DEPTH];
	int depth = 0;
	while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
		;
	int take = nallocs % sample_every == 0 && nsamples < MAX_SAMPLES;
	nallocs++;
	threads[thread_slot(tid)].allocs++;
	unsigned i = slot_of((uintptr_t)ptr);
	while (table[i].p != 0)
		i = (i + 1) & (SLOTS - 1);
	table[i].p = (uintptr_t)ptr;
	table[i].tid = tid;
	atomic_flag_clear_explicit(&lock, memory_order_release);
	if (take) {
		depth = backtrace(bt, DEPTH);
		while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
			;
		if (nsamples < MAX_SAMPLES) {
			memcpy(samples[nsamples], bt, sizeof(bt));
			sample_depth[nsamples++] = depth;
		}
		atomic_flag_clear_explicit(&lock, memory_order_release);
	}
	in_hook = 0;
}

static void on_delete(const void *ptr)
{
	if (ptr == NULL || in_hook)
		return;
	uintptr_t p = (uintptr_t)ptr;
	while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
		;
	unsigned i = slot_of(p);
	while (table[i].p != 0 && table[i].p != p)
		i = (i + 1) & (SLOTS - 1);
	if (table[i].p == p) {
		int tid = (int)syscall(SYS_gettid);
		int t = thread_slot(tid);
		threads[t].frees++;
		nfrees++;
		if (table[i].tid != tid) {
			threads[t].cross++;
			ncross++;
		}
		/* backward-shift deletion keeps the probe chains whole */
		unsigned j = i;
		for (;;) {
			table[i].p = 0;
			for (;;) {
				j = (j + 1) & (SLOTS - 1);
				if (table[j].p == 0)
					goto done;
				unsigned k = slot_of(table[j].p);
				if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
					continue;
				break;
			}
			table[i] = table[j];
			i = j;
		}
	}
done:
	atomic_flag_clear_explicit(&lock, memory_order_release);
}

__attribute__((constructor)) static void xthread_start(void)
{
	char comm[32] = "";
	int fd = open("/proc/self/comm", O_RDONLY);
	if (fd >= 0) {
		if (read(fd, comm, sizeof(comm) - 1) < 0)
			comm[0] = '\0';
		close(fd);
	}
	out_path = getenv("XTHREAD_FILE");
	if (out_path == NULL || strncmp(comm, "dealdeskd", 9) != 0) {
		out_path = NULL;
		return;
	}
	if (getenv("XTHREAD_MIN"))
		lo = strtoull(getenv("XTHREAD_MIN"), NULL, 10);
	if (getenv("XTHREAD_MAX"))
		hi = strtoull(getenv("XTHREAD_MAX"), NULL, 10);
	if (getenv("XTHREAD_SAMPLE") && atoi(getenv("XTHREAD_SAMPLE")) > 0)
		sample_every = (unsigned)atoi(getenv("XTHREAD_SAMPLE"));
	void *bt[4];
	backtrace(bt, 4); /* loads libgcc_s now, not inside a hook */
	add_new_fn add_new = (add_new_fn)dlsym(RTLD_DEFAULT, "MallocHook_AddNewHook");
	add_delete_fn add_delete = (add_delete_fn)dlsym(RTLD_DEFAULT, "MallocHook_AddDeleteHook");
	if (add_new && add_delete) {
		add_new(on_new);
		add_delete(on_delete);
	}
}

static int cmp_stack(const void *a, const void *b)
{
	return memcmp(samples[*(const int *)a], samples[*(const int *)b], sizeof(samples[0]));
}

__attribute__((destructor)) static void xthread_stop(void)
{
	if (out_path == NULL)
		return;
	in_hook = 1;
	FILE *f = fopen(out_path, "w");
	if (f == NULL)
		return;
	fprintf(f, "blocks of %zu..%zu bytes: %llu allocated, %llu freed, %llu of them (%.1f%%) "
	        "freed by another thread than the one that allocated them\n", lo, hi,
	        (unsigned long long)nallocs, (unsigned long long)nfrees,
	        (unsigned long long)ncross, nfrees ? 100.0 * (double)ncross / (double)nfrees : 0);
	fprintf(f, "%-8s %-16s %12s %12s %12s\n", "tid", "thread", "allocs", "frees",
	        "cross_frees");
	for (int i = 0; i < nthreads; i++)
		fprintf(f, "%-8d %-16s %12llu %12llu %12llu\n", threads[i].tid, threads[i].name,
		        (unsigned long long)threads[i].allocs, (unsigned long long)threads[i].frees,
		        (unsigned long long)threads[i].cross);
	/* the commonest stacks in the sample */
	static int order[MAX_SAMPLES];
	for (int i = 0; i < nsamples; i++) {
		for (int d = sample_depth[i]; d < DEPTH; d++)
			samples[i][d] = NULL;
		order[i] = i;
	}
	qsort(order, (size_t)nsamples, sizeof(int), cmp_stack);
	fprintf(f, "\nallocation stacks, %d sampled (1 in %u):\n", nsamples, sample_every);
	int shown = 0;
	for (int round = 0; round < 5 && nsamples > 0; round++) {
		/* the largest group not yet shown */
		int best = -1, best_n = 0;
		for (int i = 0; i < nsamples;) {
			int j = i;
			while (j < nsamples && cmp_stack(&order[i], &order[j]) == 0)
				j++;
			if (j - i > best_n && sample_depth[order[i]] >= 0) {
				best_n = j - i;
				best = i;
			}
			i = j;
		}
		if (best < 0)
			break;
		int s = order[best];
		fprintf(f, "-- %d samples (%.0f%%)\n", best_n, 100.0 * best_n / nsamples);
		for (int d = 0; d < DEPTH && samples[s][d]; d++) {
			Dl_info info;
			if (dladdr(samples[s][d], &info) && info.dli_sname)
				fprintf(f, "   %s+0x%lx (%s)\n", info.dli_sname,
				        (unsigned long)((char *)samples[s][d] - (char *)info.dli_saddr),
				        info.dli_fname);
			else
				fprintf(f, "   %p (%s)\n", samples[s][d],
				        dladdr(samples[s][d], &info) ? info.dli_fname : "?");
		}
		for (int i = best; i < best + best_n; i++)
			sample_depth[order[i]] = -1; /* shown */
		shown++;
	}
	fclose(f);
}
