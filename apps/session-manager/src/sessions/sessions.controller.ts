import { Body, Controller, Get, HttpCode, HttpStatus, NotFoundException, Param, Post } from '@nestjs/common';
import { CreateSessionDto } from './dto/create-session.dto';
import type { Session } from './session.types';
import { SessionsService } from './sessions.service';

/** POST /sessions prices a trip; GET /sessions/:id reads it back until it expires. */
@Controller('sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  create(@Body() body: CreateSessionDto): Promise<Session> {
    return this.sessions.create(body);
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<Session> {
    const session = await this.sessions.get(id);
    if (session === undefined) throw new NotFoundException(`session ${id} not found or expired`);
    return session;
  }
}
