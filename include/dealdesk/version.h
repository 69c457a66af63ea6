/* dealdesk: what was built. Both strings are static and captured when the
 * binaries were built (cmake/version.cmake). */
#ifndef DEALDESK_VERSION_H
#define DEALDESK_VERSION_H

/* The CMake project version: "0.1.0". */
const char *dd_version(void);
/* The git revision built ("4f2a9c1e03b7", "...-dirty" with local changes),
 * or "unknown" when the sources were not a git checkout. */
const char *dd_git_revision(void);

#endif
