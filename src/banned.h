/*
 * banned.h - functions that are easy to misuse are compile errors here.
 *
 * Included last by every source file (after system headers), so a use of one of
 * these names fails the build with a pointer to the safe replacement.  Same idea as
 * git's banned.h: unbounded copies, hidden static buffers and non-reentrant time
 * conversion have caused real bugs in daemons of this kind.
 */
#ifndef TOCSIN_BANNED_H
#define TOCSIN_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_tocsin

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)

#endif
