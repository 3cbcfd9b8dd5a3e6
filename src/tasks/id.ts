// Task ids are made by the server with crypto.randomUUID(): lowercase, canonical form only.
export const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Whether `value` could name a task at all; anything else is answered without touching D1. */
export const isTaskId = (value: string): boolean => TASK_ID.test(value)
