/**
 * Every task operation, for every door: the REST API (src/tasks/routes.ts), the FastAPI-contract
 * routes (src/compat/), the MCP tools and the assistant's tools (src/tools/). A door validates its
 * own wire shape, calls one method here with the verified user, and maps the typed outcome to its
 * own answer with an exhaustive switch. No door runs a statement itself: whatever must happen on
 * every change of a task is added here, once. Each change is logged as an event in its own
 * transaction (src/events/); once it has committed, the event is queued for the webhook.
 */
import type { Context } from 'hono'
import type { Db } from '../db'
import type { AppEnv } from '../env'
import { delivering } from '../events/config'
import type { Actor } from '../events/model'
import { enqueueEvents } from '../events/queue'
import { type CreateBounds, type IdempotencyKey, insertTaskOnce } from '../idempotency/repo'
import { limits } from '../limits'
import { pokeUser } from '../live/poke'
import { type ListOptions, listPage, listTasks, listTasksWithTotal } from './list-repo'
import type { Task, TaskFields } from './model'
import { satisfies, type VersionCondition } from './preconditions'
import type { Committed, TaskRef } from './repo'
import * as repo from './repo'
import type { TaskInput, TaskPatch } from './requests'
import { toTask } from './row'
import { changesSince } from './sync'
import type { SyncToken } from './sync-token'
import { ATTEMPTS, readStoredTask, toggleTask, type WriteResult, writeStored, writeTask } from './write-repo'

export type { ListOptions } from './list-repo'
export type { TaskRef } from './repo'

/** Which door a change came through. */
export type Door = 'rest' | 'api' | 'mcp' | 'chat'

/** Why a write or read of one task did not happen; nothing was written. */
export type Miss =
  /** No task of the caller's has this id or number. */
  | { kind: 'not-found' }
  /** The id is another user's task (only ids can name one: numbers are per user). */
  | { kind: 'forbidden' }
  /** The caller's task is not at a version the request's condition allows. */
  | { kind: 'precondition-failed' }
  /** Other writes kept changing the task between each read and write tried; retrying may succeed. */
  | { kind: 'conflict' }

/** The outcome of a write of one task (update, replace, complete, reopen, toggle). */
export type Written =
  | { kind: 'ok'; task: Task }
  | Miss
  /** Completing a recurring task would create its successor past the user's quota. */
  | { kind: 'quota'; quota: number }
  /** The write would leave a rule without a due date; `field` is the one to blame. */
  | { kind: 'needs-due-date'; field: 'dueAt' | 'recurrence' }

export type Created =
  /** `replayed`: an Idempotency-Key's first response, as it was then. */
  | { kind: 'ok'; task: Task; replayed: boolean }
  | { kind: 'quota'; quota: number }
  /** The Idempotency-Key was used with another request in its window. */
  | { kind: 'key-reused' }
  /** The user holds their budget of live Idempotency-Key records; one ages out in `retryAfterSeconds`. */
  | { kind: 'key-budget'; budget: number; retryAfterSeconds: number }

export type Read = { kind: 'ok'; task: Task } | { kind: 'not-found' } | { kind: 'forbidden' }

export type Deleted = { kind: 'ok'; task: { id: string; number: number; title: string } } | Miss

/** A patch decided against the task as stored (the /api routes' enum rule and reminder offset). */
export type Plan = (stored: Task) => TaskPatch

const now = () => new Date().toISOString()

/** The task operations of one verified user, through one door. */
export class TaskService {
  /** Who the changes are by, as their events record it. */
  private readonly actor: Actor

  constructor(
    private readonly db: Db,
    private readonly env: Env,
    /** The verified token's `sub`: every statement is scoped by it. */
    readonly userId: string,
    readonly door: Door,
    /** The OAuth client of an access token; null for a session token. */
    clientId: string | null = null,
    /** Keeps work going after the response: the live poke and the queueing of a change's events. */
    private readonly waitUntil: (work: Promise<unknown>) => void = () => {},
  ) {
    this.actor = { door, clientId, deliver: delivering(env) }
  }

  /**
   * After every write that committed a change to the user's tasks, whatever the door: the place to
   * add what must follow each change. Its work runs after the response, and never fails the write.
   * `listening`: the write's own statement found that the user may have a live socket open; `seq`:
   * the change sequence number it took, when its statement returned it.
   */
  private committed({ listening, seq }: Pick<Committed<unknown>, 'listening' | 'seq'>): void {
    // Every device of the user listening on GET /tasks/live pulls the change (src/live/).
    if (listening) pokeUser(this.env, this.waitUntil, this.userId, seq)
    // The change's events go to the webhook's queue (src/events/).
    if (this.actor.deliver) this.waitUntil(enqueueEvents(this.env, this.userId))
  }

  private get limits() {
    return limits(this.env)
  }

  /** Creates a task; with an Idempotency-Key, at most once per key and request. */
  async create(input: TaskFields, key?: IdempotencyKey): Promise<Created> {
    const { taskQuota: quota, idempotencyKeysPerUser: budget } = this.limits
    if (key === undefined) {
      const created = await repo.insertTask(this.db, this.userId, input, now(), this.actor, quota)
      if (!created) return { kind: 'quota', quota }
      this.committed(created)
      return { kind: 'ok', task: created.task, replayed: false }
    }
    const bounds: CreateBounds = { quota, keyBudget: budget }
    const result = await insertTaskOnce(this.db, this.userId, key, input, now(), this.actor, bounds)
    switch (result.outcome) {
      case 'created':
        this.committed(result)
        return { kind: 'ok', task: result.task, replayed: false }
      case 'replayed':
        return { kind: 'ok', task: result.task, replayed: true }
      case 'over-quota':
        return { kind: 'quota', quota }
      case 'key-reused':
        return { kind: 'key-reused' }
      case 'over-key-budget':
        return { kind: 'key-budget', budget, retryAfterSeconds: result.retryAfterSeconds }
      default:
        return result satisfies never
    }
  }

  async get(ref: TaskRef): Promise<Read> {
    const task = await repo.getTask(this.db, this.userId, ref)
    if (task) return { kind: 'ok', task }
    // Only a UUID can name another user's task; a number names the caller's or none.
    if (typeof ref !== 'string') return { kind: 'not-found' }
    return (await repo.taskOwner(this.db, this.userId, ref)) === 'other' ? { kind: 'forbidden' } : { kind: 'not-found' }
  }

  /** A page from a cursor, and where the next starts. */
  page(options: ListOptions) {
    return listPage(this.db, this.userId, options)
  }

  /** Up to `limit` tasks from `offset` (the /api routes page by offset). */
  list(options: ListOptions) {
    return listTasks(this.db, this.userId, options)
  }

  /** list(), and how many tasks match its filters. */
  listWithTotal(options: ListOptions) {
    return listTasksWithTotal(this.db, this.userId, options)
  }

  /** The sync feed after `since`. */
  changes(since: SyncToken | undefined, limit: number) {
    return changesSince(this.db, this.userId, since, limit)
  }

  /** PATCH (some fields) or PUT (all of them); completing a recurring task creates its successor. */
  async update(ref: TaskRef, changes: TaskPatch | TaskInput, condition: VersionCondition = {}): Promise<Written> {
    const { taskQuota } = this.limits
    const result = await writeTask(this.db, this.userId, ref, changes, now(), this.actor, condition, taskQuota)
    return this.written(ref, condition, result)
  }

  /** Flips completion, as a PATCH of `completed` would set it. */
  async toggle(ref: TaskRef, condition: VersionCondition = {}): Promise<Written> {
    const result = await toggleTask(this.db, this.userId, ref, now(), this.actor, condition, this.limits.taskQuota)
    return this.written(ref, condition, result)
  }

  /**
   * A write that can only be decided against the stored task: read it, plan the patch, write it at
   * the version read (two round trips), and read again when another write came between. `plan` may
   * throw the door's own problem for a patch it cannot make; an empty patch writes nothing.
   */
  async updateFrom(ref: TaskRef, plan: Plan, condition: VersionCondition = {}): Promise<Written> {
    const quota = this.limits.taskQuota
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const stored = await readStoredTask(this.db, this.userId, ref)
      if (stored === null) return this.miss(ref, {})
      if (!satisfies(condition, stored.version)) return { kind: 'precondition-failed' }
      const task = toTask(stored)
      const patch = plan(task)
      if (Object.keys(patch).length === 0) return { kind: 'ok', task }
      const unchanged = { match: [stored.version] }
      const result = await writeStored(this.db, this.userId, stored, patch, now(), this.actor, unchanged, quota)
      if (result !== 'raced') return this.written(ref, condition, result)
    }
    return { kind: 'conflict' }
  }

  async delete(ref: TaskRef, condition: VersionCondition = {}): Promise<Deleted> {
    const { tombstonesPerUser } = this.limits
    const deleted = await repo.deleteTask(this.db, this.userId, ref, now(), this.actor, tombstonesPerUser, condition)
    if (!deleted) return this.miss(ref, condition)
    this.committed(deleted)
    return { kind: 'ok', task: deleted.task }
  }

  /** Deletes every completed task; how many went. */
  async deleteCompleted(): Promise<number> {
    const { tombstonesPerUser } = this.limits
    const { deleted, listening } = await repo.deleteCompletedTasks(
      this.db,
      this.userId,
      now(),
      this.actor,
      tombstonesPerUser,
    )
    if (deleted > 0) this.committed({ listening })
    return deleted
  }

  private async written(ref: TaskRef, condition: VersionCondition, result: WriteResult): Promise<Written> {
    switch (result.outcome) {
      case 'written':
        this.committed(result)
        return { kind: 'ok', task: result.task }
      case 'over-quota':
        return { kind: 'quota', quota: this.limits.taskQuota }
      case 'needs-due-date':
        return { kind: 'needs-due-date', field: result.field }
      case 'raced':
        return { kind: 'conflict' }
      case 'no-match':
        return this.miss(ref, condition)
      default:
        return result satisfies never
    }
  }

  /**
   * Why a scoped statement matched nothing, in one more query: the caller's own task failed the
   * condition (or kept changing), another user's task (only a UUID can name one; never a 412, which
   * would reveal its version), or none.
   */
  private async miss(ref: TaskRef, condition: VersionCondition): Promise<Miss> {
    const mine =
      typeof ref === 'string'
        ? await repo.taskOwner(this.db, this.userId, ref)
        : (await repo.getTask(this.db, this.userId, ref)) && 'mine'
    if (mine === 'other') return { kind: 'forbidden' }
    if (mine === null) return { kind: 'not-found' }
    const conditional = condition.match !== undefined || condition.noneMatch !== undefined
    return conditional ? { kind: 'precondition-failed' } : { kind: 'conflict' }
  }
}

/** The task service for the request's verified user (src/auth/) and OAuth client, on its D1 session. */
export const taskService = (c: Context<AppEnv>, door: Door): TaskService =>
  new TaskService(c.get('db'), c.env, c.get('user').id, door, c.get('grant')?.clientId ?? null, (work) =>
    c.executionCtx.waitUntil(work),
  )
