/*
** slot.c - the engine's window of slots: where each Transfer slot is (the
** idle stack, in curl, or the retry heap), the one function that moves it,
** and the check that the counts match the states.  Kept apart from the
** scheduler (engine.c) so that the invariant has one small home: engine.c
** decides when a slot moves, this file only moves it and counts.
*/
#include <stdio.h>
#include <assert.h>
#include "apifetch.h"
#include "engine_int.h"

/**************************************************************************
** The retry heap: T_WAITING slots ordered by tDue.  Each slot knows its
** place (iHeap), so that the deadline can take any slot off it, not only
** the first.
*/
static void heap_set(Engine *e, int i, Transfer *t){
  e->apHeap[i] = t;
  t->iHeap = i;
}

/* Put t in the heap's hole at i, then up or down to where it belongs (up
** for a push, down for what replaces a slot taken off). */
static void heap_settle(Engine *e, int i, Transfer *t){
  while( i>0 && e->apHeap[(i-1)/2]->tDue > t->tDue ){
    heap_set(e, i, e->apHeap[(i-1)/2]);
    i = (i-1)/2;
  }
  for(;;){
    int c = 2*i+1;
    if( c>=e->nHeap ) break;
    if( c+1<e->nHeap && e->apHeap[c+1]->tDue<e->apHeap[c]->tDue ) c++;
    if( t->tDue<=e->apHeap[c]->tDue ) break;
    heap_set(e, i, e->apHeap[c]);
    i = c;
  }
  heap_set(e, i, t);
}

static void heap_push(Engine *e, Transfer *t){
  assert( e->nHeap<e->nXfer );
  heap_settle(e, e->nHeap++, t);
}

static void heap_remove(Engine *e, Transfer *t){
  Transfer *last;
  assert( e->nHeap>0 && t->iHeap<e->nHeap && e->apHeap[t->iHeap]==t );
  last = e->apHeap[--e->nHeap];
  if( last!=t ) heap_settle(e, t->iHeap, last);
}

/* Every slot is in exactly one place: the idle stack, in curl (running) or
** on the retry heap; and each response waiting to be read holds an idle
** slot's share of the window (engine_fill starts nothing while nDone takes
** every idle slot), which is what bounds memory by `concurrency`.  The
** counts are checked on every move; the walk over the slots, linear in
** the window, once a turn of engine_next and only in APIFETCH_DEBUG builds
** (SANITIZE=1, the fuzzers), as SQLite keeps its costly checks for
** SQLITE_DEBUG. */
void slot_check(const Engine *e){
  assert( e->nIdle>=0 && e->nRunning>=0 && e->nHeap>=0 );
  assert( e->nIdle + e->nRunning + e->nHeap == e->nXfer );
  assert( e->nDone>=0 && e->nDone<=e->nIdle );
  assert( e->nPart>=0 );
  assert( (e->pDone==0)==(e->nDone + e->nPart==0) );
#ifdef APIFETCH_DEBUG
  int i, nIdle = 0, nRunning = 0, nWaiting = 0;
  for(i=0; i<e->nXfer; i++){
    int s = e->aXfer[i].state;
    nIdle += s==T_IDLE;
    nRunning += s==T_RUNNING;
    nWaiting += s==T_WAITING;
  }
  assert( nIdle==e->nIdle && nRunning==e->nRunning && nWaiting==e->nHeap );
  for(i=1; i<e->nHeap; i++) assert( e->apHeap[(i-1)/2]->tDue<=e->apHeap[i]->tDue );
  for(i=0; i<e->nHeap; i++) assert( e->apHeap[i]->iHeap==i );
#endif
  (void)e;
}

/**************************************************************************
** A slot's state.  slot_state() is its only writer (as curl's mstate() is
** a handle's), and moves the slot between the places engine_check counts,
** so that the counts cannot drift from the states.  The moves:
**
**   IDLE    -> RUNNING   a new request starts (transfer_start)
**   IDLE    -> WAITING   a new request waits for its host (engine_hold)
**   RUNNING -> RUNNING   the next hop of a redirect (redirect_follow)
**   RUNNING -> WAITING   a retry, due at tDue (transfer_done)
**   RUNNING -> IDLE      its response is made (slot_release)
**   WAITING -> RUNNING   the retry starts (transfer_start)
**   WAITING -> WAITING   its host holds it back: due later (engine_hold)
**   WAITING -> IDLE      the deadline passed first (engine_expire)
**
** RUNNING means its easy handle is in curl, or has just come out of it
** while transfer_done decides where the slot goes.  A new request takes the
** top of the idle stack.  In APIFETCH_DEBUG builds, with the environment
** variable APIFETCH_TRACE set (to anything), each move is written to
** stderr: a line "apifetch: slot N FROM -> TO (idle I, running R,
** waiting W) url_index K".  Release builds have neither the line nor the
** test of the variable.
*/
static const char *const azSlotState[] = { "IDLE", "RUNNING", "WAITING" };

void slot_state(Engine *e, Transfer *t, int eNew){
  int eOld = t->state;
  /* aMove[from][to]: the moves above, and no others. */
  static const unsigned char aMove[3][3] = {
    /*            IDLE RUNNING WAITING */
    /* IDLE    */ { 0,    1,      1 },
    /* RUNNING */ { 1,    1,      1 },
    /* WAITING */ { 1,    1,      1 },
  };
  assert( eOld>=T_IDLE && eOld<=T_WAITING && eNew>=T_IDLE && eNew<=T_WAITING );
  assert( aMove[eOld][eNew] );
  (void)aMove;
  if( eOld!=eNew ){
    switch( eOld ){
      case T_IDLE:
        assert( e->nIdle>e->nDone && e->apIdle[e->nIdle-1]==t );
        e->nIdle--;
        break;
      case T_RUNNING: e->nRunning--; break;
      default:        heap_remove(e, t); break;
    }
    t->state = eNew;
    switch( eNew ){
      case T_IDLE:    e->apIdle[e->nIdle++] = t; break;
      case T_RUNNING: e->nRunning++; break;
      default:        heap_push(e, t); break;
    }
  }else if( eNew==T_WAITING ){
    heap_remove(e, t);              /* a new tDue: its place in the heap */
    heap_push(e, t);
  }
  assert( e->nIdle + e->nRunning + e->nHeap == e->nXfer );
#ifdef APIFETCH_DEBUG
  if( e->bTrace ){
    fprintf(stderr, "apifetch: slot %d %s -> %s (idle %d, running %d, waiting %d) "
            "url_index %lld\n", (int)(t - e->aXfer), azSlotState[eOld], azSlotState[eNew],
            e->nIdle, e->nRunning, e->nHeap, t->req.iIndex);
  }
#endif
  (void)azSlotState;
}

