/*
 * escalate.h - the escalation engine's decisions: who holds an incident, and when
 * the next level of its escalation policy takes over.
 *
 * Every function runs inside a writer transaction (struct store_tx), on an incident
 * the caller read from the store (owned strings), and writes that incident row, its
 * log entries, its page requests (the outbox) and its escalate timer.  They return
 * STORE_OK or STORE_FAULT, and the INCIDENT_E* codes of incident.h (with *err) for a
 * request that cannot be done: those write nothing.
 *
 * Invariant: an incident has at most one escalate timer, and it has one exactly
 * while it is triggered, paged, and not yet at the last step of its policy.
 */
#ifndef TOCSIN_ESCALATE_H
#define TOCSIN_ESCALATE_H

#include <stdint.h>

#include "config.h"
#include "model.h"
#include "store.h"

#define TIMER_ESCALATE "escalate"

/* A new incident: step 1 (level 1) of the policy it was opened with.  Nothing when it
 * names no policy or was opened in a maintenance window. */
int escalate_open(struct store_tx *tx, const struct config *cfg, int64_t number, int64_t now);

/* The escalate timer with deadline due fired: the next step.  The next deadline
 * counts from due, so overdue steps after downtime each fire once, in order. */
int escalate_fire(struct store_tx *tx, const struct config *cfg, struct incident *inc,
		  int64_t due, int64_t now);

/* Triggered again (the acknowledgement timed out): from level 1 of the policy. */
int escalate_restart(struct store_tx *tx, const struct config *cfg, struct incident *inc,
		     int64_t now);

/* Acknowledged: escalation stops (the timer is cancelled; nothing else changes). */
int escalate_stop(struct store_tx *tx, const struct incident *inc);

/* By hand: the next step now.  An acknowledged incident is triggered again for it;
 * one nobody was paged for starts at level 1.  409 at the last step, when resolved,
 * or without a policy. */
int escalate_manual(struct store_tx *tx, const struct config *cfg, struct incident *inc,
		    const char *actor, int64_t now, char **err);

/*
 * Hands the incident to to ("user:ID" or "schedule:ID", whoever is on call now).
 * It is triggered again until the new holder acknowledges, and the current level's
 * delay starts again, so escalation still backs the new holder up.
 */
int escalate_reassign(struct store_tx *tx, const struct config *cfg, struct incident *inc,
		      const char *to, const char *actor, int64_t now, char **err);

#endif
