/** The stream frame decoder the agent reads viewers with: payloads must outlive the chunk they came in. */
import { FrameType, StreamFrameDecoder, encodeStreamFrame, payloadText, textPayload } from '../../../link/frames';

describe('StreamFrameDecoder', () => {
  it('copies payloads out of Node Buffers (Buffer#slice is a view)', () => {
    const chunk = Buffer.from(encodeStreamFrame(FrameType.Notice, textPayload('hello')));
    const [frame] = new StreamFrameDecoder().push(chunk);
    chunk.fill(0);
    expect(payloadText(frame!.payload)).toBe('hello');
  });

  it('copies a partial frame it holds across chunks', () => {
    const bytes = Buffer.from(encodeStreamFrame(FrameType.Data, textPayload('abcdef')));
    const d = new StreamFrameDecoder();
    const head = Buffer.from(bytes.subarray(0, 8));
    expect(d.push(head)).toEqual([]);
    head.fill(0);
    const [frame] = d.push(Buffer.from(bytes.subarray(8)));
    expect(payloadText(frame!.payload)).toBe('abcdef');
  });
});
