/* version.h — the release, set by the Makefile from its VERSION. */
#ifndef DEADLINED_VERSION_H
#define DEADLINED_VERSION_H

#ifndef DEADLINED_VERSION
#define DEADLINED_VERSION "0.1.0"
#endif

#endif
