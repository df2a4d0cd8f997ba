CREATE TABLE `mcp_servers` (
	`agent` text NOT NULL,
	`name` text NOT NULL,
	`transport` text NOT NULL,
	`command` text,
	`args` text NOT NULL,
	`env` text NOT NULL,
	`url` text,
	`headers` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`agent`, `name`)
);
--> statement-breakpoint
CREATE TABLE `skills` (
	`agent` text NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`version` text DEFAULT '1.0.0' NOT NULL,
	`language` text NOT NULL,
	`run_command` text NOT NULL,
	`entrypoint` text NOT NULL,
	`code` text NOT NULL,
	`manifest` text,
	`needs_network` integer DEFAULT false NOT NULL,
	`needs_fs_read` integer DEFAULT false NOT NULL,
	`needs_fs_write` integer DEFAULT false NOT NULL,
	`needs_env` integer DEFAULT false NOT NULL,
	`env_keys` text NOT NULL,
	`usage_example` text,
	`source_url` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`agent`, `name`)
);
