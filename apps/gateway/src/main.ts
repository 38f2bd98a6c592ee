import { runService } from '#bootstrap';
import { loadConfigOrExit } from '#config';
import { gatewayConfigSchema } from './gateway.config.js';
import { SERVICE_NAME } from './gateway.module.js';
import { prepareGateway } from './gateway.service.js';

runService(SERVICE_NAME, () => prepareGateway(loadConfigOrExit(gatewayConfigSchema)));
