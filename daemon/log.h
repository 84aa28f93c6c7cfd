/* log.h: hpoold's logging to stderr (the journal under systemd). */
#ifndef HPOOL_LOG_H
#define HPOOL_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_init(int level);
/* The name a line starts with: "hpoold" or "hpoold[worker 2]". */
void	log_set_tag(const char *tag);
void	log_msg(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* 1 if a line of this level would be written. */
int	log_enabled(int level);
/* Broken invariant only: never for anything a peer sent. */
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
