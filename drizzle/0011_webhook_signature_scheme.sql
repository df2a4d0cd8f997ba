ALTER TABLE `webhook_deliveries` ADD `payload_digest` text;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_webhook_digest` ON `webhook_deliveries` (`webhook`,`payload_digest`);--> statement-breakpoint
ALTER TABLE `webhooks` ADD `signature_scheme` text;