import {
  BadRequestException,
  Body,
  Controller,
  Headers,
  HttpCode,
  HttpStatus,
  Inject,
  Logger,
  Param,
  ParseEnumPipe,
  Post,
  UnauthorizedException,
} from '@nestjs/common';
import { GATEWAY_NAMES, type GatewayName } from '../config/payment-processor.config';
import { PaymentLinksRepository } from '../payment-links/payment-links.repository';
import { PROCESSOR_SETTINGS, type ProcessorSettings } from '../payment.tokens';
import { verifyNotification, type WebhookSecrets } from './gateway-notification.verifier';

const GATEWAY_ENUM = Object.fromEntries(GATEWAY_NAMES.map((name) => [name, name])) as Record<
  GatewayName,
  GatewayName
>;

/**
 * Gateway notifications. The signature or token is checked before anything else (401 otherwise);
 * a verified notification is always answered 200 `{ received: true }`, whether or not its
 * reference is ours, so the answer never tells whether a link exists.
 */
@Controller('webhooks')
export class WebhooksController {
  private readonly logger = new Logger('WebhooksController');
  private readonly secrets: WebhookSecrets;

  constructor(
    private readonly repository: PaymentLinksRepository,
    @Inject(PROCESSOR_SETTINGS) private readonly settings: ProcessorSettings,
  ) {
    this.secrets = {
      midtransServerKey: settings.midtrans.serverKey,
      xenditCallbackToken: settings.xendit.callbackToken,
      nicepayMerchantKey: settings.nicepay.merchantKey,
      nicepayImid: settings.nicepay.iMid,
    };
  }

  @Post(':gateway')
  @HttpCode(HttpStatus.OK)
  async notify(
    @Param(
      'gateway',
      new ParseEnumPipe(GATEWAY_ENUM, {
        exceptionFactory: () =>
          new BadRequestException({
            statusCode: 400,
            error: 'Bad Request',
            message: `gateway: must be one of ${GATEWAY_NAMES.join(', ')}`,
            fields: ['gateway'],
          }),
      }),
    )
    gateway: GatewayName,
    @Headers() headers: Record<string, string | string[] | undefined>,
    @Body() body: unknown,
  ): Promise<{ received: true }> {
    const notification = verifyNotification(gateway, headers, body, this.secrets);
    if (!notification) {
      this.logger.warn(`${gateway} notification refused: signature or token did not check out`);
      throw new UnauthorizedException({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'notification signature or token is invalid',
      });
    }
    const result = await this.repository.applyNotification(
      gateway,
      notification.reference,
      notification.status,
      this.settings.clock(),
    );
    if (result === 'needs-refund') {
      this.logger.error(
        `${gateway} reports ${notification.reference} paid on a superseded attempt: link flagged needs_refund`,
      );
    } else if (result === 'unknown-reference') {
      this.logger.warn(`${gateway} notification for unknown reference ${notification.reference} ignored`);
    } else {
      this.logger.log(`${gateway} ${notification.reference}: ${notification.gatewayStatus} (${result})`);
    }
    return { received: true };
  }
}
