/** The database, as one picture. Timestamps are integer milliseconds; JSON columns are text. */
import { sqliteTable, text, integer } from 'drizzle-orm/sqlite-core';
import type { ModelSettings } from '../domain/agents.ts';

export const agents = sqliteTable('agents', {
  name: text('name').primaryKey(),
  description: text('description').notNull().default(''),
  model: text('model', { mode: 'json' }).$type<ModelSettings>().notNull(),
  systemPrompt: text('system_prompt').notNull().default(''),
  allowedTools: text('allowed_tools', { mode: 'json' }).$type<string[]>().notNull(),
  maxSteps: integer('max_steps').notNull(),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
});
