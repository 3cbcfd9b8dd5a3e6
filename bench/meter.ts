/**
 * The rows D1 reads and writes for one request, and its round trips, for the bench's `x-bench-meter`
 * requests: bench/entry.ts meters the app's, bench/peer/entry.ts the naive peer's.
 */

/**
 * What D1 reported reading and writing (`meta.rows_read`, `meta.rows_written`) for one request, and
 * its round trips: each statement run on its own, and each batch.
 */
export interface Meter {
  rowsRead: number
  rowsWritten: number
  roundTrips: number
}

/**
 * A D1 (binding or session) that adds up the rows D1 reports for every statement, and counts the
 * round trips. first() reports no meta, so it runs as all() and hands back the first row: the same
 * statement, one round trip. raw() is left out: it reports no meta, so a request using it fails
 * here rather than be metered short.
 */
export function metered<T extends D1Database | D1DatabaseSession>(db: T, meter: Meter): T {
  const add = <R>(result: D1Result<R>) => {
    meter.rowsRead += result.meta.rows_read
    meter.rowsWritten += result.meta.rows_written
    return result
  }
  const trip = () => {
    meter.roundTrips++
  }
  const statement = (inner: D1PreparedStatement): D1PreparedStatement =>
    ({
      inner,
      bind: (...values: unknown[]) => statement(inner.bind(...values)),
      all: async () => {
        trip()
        return add(await inner.all())
      },
      run: async () => {
        trip()
        return add(await inner.run())
      },
      first: async (column?: string) => {
        trip()
        const row = (add(await inner.all<Record<string, unknown>>()).results[0] ?? null) as Record<
          string,
          unknown
        > | null
        return column === undefined || row === null ? row : row[column]
      },
    }) as unknown as D1PreparedStatement
  return {
    prepare: (sql: string) => statement(db.prepare(sql)),
    batch: async (statements: D1PreparedStatement[]) => {
      trip()
      return (await db.batch(statements.map((s) => (s as unknown as { inner: D1PreparedStatement }).inner))).map(add)
    },
    withSession: (constraint?: string) => metered((db as D1Database).withSession(constraint), meter),
    getBookmark: () => (db as D1DatabaseSession).getBookmark(),
  } as unknown as T
}

export const newMeter = (): Meter => ({ rowsRead: 0, rowsWritten: 0, roundTrips: 0 })

/** The response with what the meter counted in three more headers. */
export function withMeter(response: Response, meter: Meter): Response {
  const headers = new Headers(response.headers)
  headers.set('x-bench-rows-read', String(meter.rowsRead))
  headers.set('x-bench-rows-written', String(meter.rowsWritten))
  headers.set('x-bench-round-trips', String(meter.roundTrips))
  return new Response(response.body, { status: response.status, headers })
}
