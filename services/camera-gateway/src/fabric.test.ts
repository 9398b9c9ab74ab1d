import { describe, expect, it } from 'vitest';
import { FabricCode, SubfolderName, fabricOfFile } from './fabric.js';

describe('fabricOfFile', () => {
  it('reads the fabric from an AITEX file name when the config names none', () => {
    expect(fabricOfFile('0044_019_04.png', {})).toEqual({ fabricCode: '04', from: 'file name' });
    expect(fabricOfFile('twill/0001_000_02.png', { fabricBySubfolder: { denim: '05' } })).toEqual({ fabricCode: '02', from: 'file name' });
  });

  it('gives no fabric for a name of another shape when the config names none', () => {
    for (const name of ['frame-0001.png', '0044_019_4.png', '0044_019_04_mask.png', 'x0044_019_04.png']) expect(fabricOfFile(name, {}), name).toBeUndefined();
  });

  it("takes the folder's fabricCode over the file name, and says which name it overrode", () => {
    expect(fabricOfFile('frame-0001.png', { fabricCode: 'denim-05' })).toEqual({ fabricCode: 'denim-05', from: 'folder' });
    expect(fabricOfFile('0044_019_04.png', { fabricCode: '04' })).toEqual({ fabricCode: '04', from: 'folder' });
    expect(fabricOfFile('0044_019_04.png', { fabricCode: '07' })).toEqual({ fabricCode: '07', from: 'folder', overriddenName: '04' });
  });

  it("takes a subfolder's fabric over the folder's and the file name's", () => {
    const settings = { fabricCode: '01', fabricBySubfolder: { 'denim blue': '05', twill: '07' } };
    expect(fabricOfFile('denim blue/frame.png', settings)).toEqual({ fabricCode: '05', from: 'subfolder' });
    expect(fabricOfFile('twill/0001_000_02.png', settings)).toEqual({ fabricCode: '07', from: 'subfolder', overriddenName: '02' });
    expect(fabricOfFile('frame.png', settings)).toEqual({ fabricCode: '01', from: 'folder' });
  });
});

describe('fabric settings', () => {
  it('takes a fabric code of letters, digits, ".", "_" and "-" up to 32 characters and refuses others', () => {
    for (const code of ['05', 'denim-blue_2.1', 'x'.repeat(32)]) expect(FabricCode.safeParse(code).success, code).toBe(true);
    for (const code of ['', 'x'.repeat(33), 'denim blue', 'a/b', 'a:b', 5]) expect(FabricCode.safeParse(code).success, String(code)).toBe(false);
    expect(FabricCode.safeParse(5).error?.issues[0]?.message).toMatch(/quote/);
  });

  it('takes one folder name below the hot folder as a subfolder, never a path, a hidden folder or ..', () => {
    for (const name of ['denim', 'Denim Blue 05', 'product.05']) expect(SubfolderName.safeParse(name).success, name).toBe(true);
    for (const name of ['', '.', '..', '.hidden', 'a/b', 'a\\b', '../x', 'tab\there']) expect(SubfolderName.safeParse(name).success, name).toBe(false);
  });
});
