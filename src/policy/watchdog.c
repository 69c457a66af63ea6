/* dealdesk policy: the watchdog that arms a call's budget hook.
 *
 * A Lua count hook makes the VM trap every instruction (lvm.c calls
 * luaG_traceexec for each one while a hook is set), which cost policies a
 * tenth of a quote's time although nearly every call ends in microseconds.
 * So a call starts with no hook; one watchdog thread looks at the calls
 * running every tick and, for each that has run POLICY_ARM_AFTER_NS, sends
 * its thread a signal whose handler sets the budget hook (lua_sethook is
 * meant to be called from a signal handler: lua.c stops scripts on SIGINT
 * this way). From then on the hook counts instructions and watches the
 * deadline as before, and re-arms itself so pcall cannot swallow the kill.
 * The instruction budget therefore counts from the first millisecond of a
 * call; the time budget is unchanged.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "policy/policy_int.h"

#define POLICY_ARM_AFTER_NS UINT64_C(1000000)
#define POLICY_TICK_NS 1000000L
#define POLICY_ARM_SIGNAL SIGURG

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static policy_watch *watch_list;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
static int watch_started;

static __thread policy_watch *tls_running;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static void arm_handler(int sig)
{
	(void)sig;
	int saved = errno;
	policy_watch *w = tls_running;
	if (w != NULL && w->running)
		w->arm(w->ud);
	errno = saved;
}

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec tick = { 0, POLICY_TICK_NS };
		nanosleep(&tick, NULL);
		uint64_t now = mono_ns();
		pthread_mutex_lock(&watch_lock);
		for (policy_watch *w = watch_list; w != NULL; w = w->next) {
			uint64_t start = atomic_load(&w->started_ns);
			if (start == 0 || atomic_load(&w->armed) || now - start < POLICY_ARM_AFTER_NS)
				continue;
			atomic_store(&w->armed, 1);
			pthread_kill(w->thread, POLICY_ARM_SIGNAL);
		}
		pthread_mutex_unlock(&watch_lock);
	}
	return NULL;
}

static void start_watchdog(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = arm_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(POLICY_ARM_SIGNAL, &sa, NULL) != 0)
		return;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* the watchdog itself never takes the signal */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, &attr, watchdog, NULL) == 0)
		watch_started = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

int policy_watch_add(policy_watch *w)
{
	pthread_once(&watch_once, start_watchdog);
	atomic_store(&w->started_ns, 0);
	atomic_store(&w->armed, 0);
	w->running = 0;
	pthread_mutex_lock(&watch_lock);
	w->prev = NULL;
	w->next = watch_list;
	if (watch_list)
		watch_list->prev = w;
	watch_list = w;
	pthread_mutex_unlock(&watch_lock);
	return watch_started;
}

void policy_watch_remove(policy_watch *w)
{
	pthread_mutex_lock(&watch_lock);
	if (w->prev)
		w->prev->next = w->next;
	else if (watch_list == w)
		watch_list = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
	pthread_mutex_unlock(&watch_lock);
}

void policy_watch_begin(policy_watch *w)
{
	w->thread = pthread_self();
	tls_running = w;
	atomic_store(&w->armed, 0);
	w->running = 1;
	atomic_store(&w->started_ns, mono_ns());
}

void policy_watch_end(policy_watch *w)
{
	/* order matters: a signal that arrives after `running` is cleared
	 * does nothing, one before it sets the hook the caller then clears */
	w->running = 0;
	atomic_store(&w->started_ns, 0);
	tls_running = NULL;
}
