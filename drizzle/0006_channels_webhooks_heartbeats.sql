CREATE TABLE `channel_chats` (
	`agent` text NOT NULL,
	`channel` text NOT NULL,
	`chat_id` text NOT NULL,
	`username` text,
	`paired_at` integer NOT NULL,
	PRIMARY KEY(`agent`, `channel`, `chat_id`)
);
--> statement-breakpoint
CREATE TABLE `channels` (
	`agent` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`config` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`status` text DEFAULT 'stopped' NOT NULL,
	`last_error` text,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`agent`, `name`)
);
--> statement-breakpoint
CREATE TABLE `heartbeats` (
	`id` text PRIMARY KEY NOT NULL,
	`agent` text NOT NULL,
	`name` text NOT NULL,
	`cron` text,
	`timezone` text,
	`interval_ms` integer,
	`prompt` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`next_run_at` integer,
	`last_run_at` integer,
	`last_run_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `heartbeats_due` ON `heartbeats` (`enabled`,`next_run_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `heartbeats_agent_name` ON `heartbeats` (`agent`,`name`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`webhook` text NOT NULL,
	`delivery_key` text,
	`event_type` text,
	`status` text NOT NULL,
	`http_status` integer NOT NULL,
	`run_id` text,
	`error` text,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_webhook_received` ON `webhook_deliveries` (`webhook`,`received_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_webhook_key` ON `webhook_deliveries` (`webhook`,`delivery_key`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`name` text PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`agent` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`prompt_template` text NOT NULL,
	`secret_ciphertext` text,
	`secret_key_id` text,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhooks_id_unique` ON `webhooks` (`id`);--> statement-breakpoint
ALTER TABLE `runs` ADD `parent_run_id` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `depth` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `runs_parent` ON `runs` (`parent_run_id`);