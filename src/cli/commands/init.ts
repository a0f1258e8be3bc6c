import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { writeDenied } from '../../contracts/write-access.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { presentError } from '../present-error.js';
import { initSpec } from '../specs/init.js';

const PIPELINE = `import { pipeline, ref, schema, sink, source, sql, t, transform } from 'sluice';

const orders = schema({
  order_id: t.int64().notNull(),
  customer: t.string().notNull(),
  amount: t.decimal(12, 2).notNull(),
  ordered_at: t.timestamp().notNull(),
});

export default pipeline('orders', {
  description: 'Daily revenue per customer from the orders CSV.',
  // For \`npx sluice serve\`: every day at 06:00 UTC, one run at a time.
  schedule: { cron: '0 6 * * *' },
  maxActiveRuns: 1,
  steps: {
    orders: source.csv({ path: 'data/orders.csv', schema: orders }),
    daily: sql\`
      select customer, cast(ordered_at as date) as order_date, sum(amount) as revenue
      from \${ref('orders')}
      group by all\`,
    labelled: transform({
      input: ref('daily'),
      schema: schema({
        customer: t.string(),
        order_date: t.date(),
        revenue: t.decimal(14, 2),
        tier: t.string(),
      }),
      map: (row) => ({ ...row, tier: Number(row.revenue) >= 100 ? 'gold' : 'standard' }),
    }),
    out: sink.parquet({ input: ref('labelled'), path: 'out/daily', partitionBy: ['order_date'] }),
  },
});
`;

const ORDERS = `order_id,customer,amount,ordered_at
1,acme,120.50,2026-01-05 09:12:00
2,globex,35.00,2026-01-05 10:40:00
3,acme,12.25,2026-01-06 16:03:00
4,initech,not-a-number,2026-01-06 17:20:00
5,,50.00,2026-01-07 08:00:00
`;

const FILES: Readonly<Record<string, string>> = {
  'pipeline.ts': PIPELINE,
  'sluice.config.ts': `import { defineProject } from 'sluice';

/** The project's pipelines, for \`sluice serve\`, \`sluice worker\` and \`sluice trigger\`. */
export default defineProject({ pipelines: { orders: './pipeline.ts' } });
`,
  'data/orders.csv': ORDERS,
  '.gitignore': 'node_modules/\n.sluice/\nout/\n',
  'package.json': `${JSON.stringify(
    {
      name: 'my-pipelines',
      private: true,
      type: 'module',
      scripts: { start: 'sluice run pipeline.ts', check: 'sluice check pipeline.ts' },
      dependencies: { sluice: '^0.1.0' },
    },
    null,
    2,
  )}\n`,
  'README.md':
    '# Pipelines\n\nRun `npx sluice run pipeline.ts`; validate with `npx sluice check pipeline.ts`.\n' +
    'Quarantined rows and run reports are under `.sluice/runs/`.\n' +
    'Run it on its schedule with `npx sluice serve`; `npx sluice runs` lists the runs.\n',
};

/**
 * `sluice init <dir>`: scaffolds a project with one runnable pipeline and sample data.
 *
 * @example
 * ```sh
 * sluice init my-pipelines && sluice run my-pipelines/pipeline.ts
 * ```
 */
export const initCommand: Command = {
  ...initSpec,
  async run(args, options, io) {
    try {
      const dir = resolve(io.cwd, args[0] as string);
      const existing = await readdir(dir).catch(() => [] as string[]);
      if (existing.length > 0 && options['force'] !== true) {
        throw new UsageError(`${dir} is not empty`, {
          hint: 'pick a new folder, or pass --force to write into it',
        });
      }
      for (const [name, content] of Object.entries(FILES)) {
        const path = join(dir, name);
        try {
          await mkdir(join(path, '..'), { recursive: true });
          await writeFile(path, content);
        } catch (cause) {
          const denied = await writeDenied(cause, dirname(path));
          if (denied === undefined) throw cause;
          throw new UsageError(denied.message, { cause, hint: denied.hint });
        }
      }
      const shown = relative(io.cwd, dir) || '.';
      io.stdout(
        `Created ${shown} with ${Object.keys(FILES).length} files.\n` +
          `Run it:   npx sluice run ${join(shown, 'pipeline.ts')}\n` +
          `Check it: npx sluice check ${join(shown, 'pipeline.ts')}\n`,
      );
      return ExitCode.success;
    } catch (error) {
      return presentError(error, io, { json: false });
    }
  },
};
