/* The Maildir transport: each message becomes one file in <root>/new/, written atomically. */
#ifndef SI_MAIL_MAILDIR_H
#define SI_MAIL_MAILDIR_H

#include "mail/transport.h"

#define MAILDIR_PATH_MAX  4096 /* bytes of any path we build, NUL included */
#define MAILDIR_SUFFIX    ".eml"
#define MAILDIR_DIR_MODE  0750
#define MAILDIR_FILE_MODE 0640

/* The Maildir transport's table. open(target) creates target (and its parents) and target/tmp,
 * target/new and target/cur, and keeps tmp/ and new/ open (checked against their paths once per
 * batch, reopened when moved or replaced); SI_EIO (logged with strerror) when it cannot. send
 * writes tmp/<unique> and keeps it pending; flush (at the end of a mailer round, or every
 * MAILDIR_BATCH_MAX sends) makes the pending files durable with one syncfs, renames each to
 * new/<unique>.eml and fsyncs new/, so a message is either wholly in new/ or not there at all,
 * whenever the process dies. <unique> is "<seconds>.M<micros>P<pid>Q<counter>.<host>" with only
 * [A-Za-z0-9._-] characters. Failures are logged once and returned as SI_EIO, or SI_EFULL on a
 * full disk (both worth a retry). The envelope is ignored. */
extern const struct transport_ops maildir_transport;

#endif
