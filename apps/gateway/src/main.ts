import { runService } from '#bootstrap';
import { loadConfigOrExit } from '#config';
import { gatewayConfigSchema } from './gateway.config.js';
import { prepareGateway } from './gateway.service.js';

runService(() => prepareGateway(loadConfigOrExit(gatewayConfigSchema)));
