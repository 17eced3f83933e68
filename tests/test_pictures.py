"""The pictures of a gallery's images, found anywhere in the root (``w2vv.retrieval.pictures``):
the folders named first, then ImageData/ of the served, the gallery's and the ImageSets list's
collections, then of every collection; symbolic links and files outside the folder refused."""
import os

from w2vv.retrieval.pictures import Pictures, open_checked, picture_folders


def write(path, data=b"\xff\xd8picture"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def test_pictures_are_found_in_every_collection_and_the_folders_named(tmp_path):
    root = tmp_path / "VisualSearch"
    gallery_dir = root / "mscoco2014dev" / "FeatureData" / "feat"
    os.makedirs(gallery_dir)
    ids = ["a", "b", "c", "d", "e", "f"]
    write(str(root / "cococntest" / "ImageData" / "a.jpg"))
    write(str(root / "cococntest" / "ImageData" / "b.JPG"))
    write(str(root / "cococntest" / "ImageData" / "notes.txt"))
    write(str(root / "mscoco2014dev" / "ImageData" / "b.png"), b"gallery's own")   # the gallery's collection first
    write(str(root / "zz" / "ImageData" / "c.webp"))
    write(str(tmp_path / "photos" / "2024" / "d.jpeg"))                           # a named folder, recursively
    write(str(tmp_path / "photos" / "e.tif"))                                     # not a format browsers show
    folders = picture_folders(str(root), str(gallery_dir), images=[str(tmp_path / "photos")])
    assert folders[0] == (str(tmp_path / "photos"), True)
    assert folders[1] == (str(root / "mscoco2014dev" / "ImageData"), False)
    pictures = Pictures(ids, folders)
    assert pictures.count == 4
    paths = {img: pictures.path(i) for i, img in enumerate(ids)}
    assert paths["a"][0] == str(root / "cococntest" / "ImageData" / "a.jpg") and paths["a"][2] == "image/jpeg"
    assert paths["b"][0] == str(root / "mscoco2014dev" / "ImageData" / "b.png") and paths["b"][2] == "image/png"
    assert paths["c"][2] == "image/webp"
    assert paths["d"][0] == str(tmp_path / "photos" / "2024" / "d.jpeg")
    assert paths["e"] is None and paths["f"] is None
    line = pictures.summary()
    assert line.startswith("pictures: 4 of 6 gallery images have one (") and "the id of the 2 others" in line
    f, st = open_checked(*paths["b"][:2])
    with f:
        assert f.read() == b"gallery's own" and st.st_size == 13


def test_the_served_collection_and_the_imageset_come_before_the_others(tmp_path):
    root = tmp_path / "R"
    write(str(root / "aaa" / "ImageData" / "x.jpg"), b"aaa")
    write(str(root / "mine" / "ImageData" / "x.jpg"), b"mine")
    write(str(root / "sets" / "ImageData" / "x.jpg"), b"sets")
    imageset = root / "sets" / "ImageSets" / "sets.txt"
    write(str(imageset), b"x\n")
    gallery = str(root / "mscoco2014dev" / "FeatureData" / "feat")
    by_imageset = Pictures(["x"], picture_folders(str(root), gallery, imageset=str(imageset)))
    assert open_checked(*by_imageset.path(0)[:2])[0].read() == b"sets"
    served = Pictures(["x"], picture_folders(str(root), gallery, collection="mine", imageset=str(imageset)))
    assert open_checked(*served.path(0)[:2])[0].read() == b"mine"


def test_symbolic_links_and_files_leaving_the_folder_are_refused(tmp_path):
    folder = tmp_path / "c" / "ImageData"
    write(str(tmp_path / "secret.txt"), b"root:x:0:0")
    os.makedirs(folder)
    os.symlink(tmp_path / "secret.txt", folder / "a.jpg")                 # a link to a file outside
    os.symlink(tmp_path, folder / "sub")                                  # a link to a folder
    write(str(folder / "b.jpg"))
    pictures = Pictures(["a", "b"], [(str(folder), True)])
    assert pictures.path(0) is None and pictures.count == 1 and pictures.symlinks == 1
    assert "1 symbolic links skipped" in pictures.summary()
    path, real, _ = pictures.path(1)
    os.remove(path)                                                       # replaced by a link after the scan
    os.symlink(tmp_path / "secret.txt", path)
    assert open_checked(path, real) is None
    os.remove(path)
    os.mkdir(path)                                                        # or by a folder
    assert open_checked(path, real) is None
    assert open_checked(str(tmp_path / "secret.txt"), real) is None      # outside the folder


def test_an_extracted_gallery_takes_no_picture_of_another_collection(tmp_path):
    """Your own photos' ids (IMG_0001) name other pictures in another collection: a thumbnail deleted shows
    the id, not a stranger's photo."""
    root = tmp_path / "R"
    write(str(root / "mine" / "ImageData" / "IMG_0001.jpg"), b"mine")
    write(str(root / "other" / "ImageData" / "IMG_0001.jpg"), b"other")
    write(str(root / "other" / "ImageData" / "IMG_0002.jpg"), b"other")
    gallery = root / "mine" / "FeatureData" / "feat"
    write(str(gallery / "extraction.json"), b"{}")
    pictures = Pictures(["IMG_0001", "IMG_0002"], picture_folders(str(root), str(gallery)))
    assert open_checked(*pictures.path(0)[:2])[0].read() == b"mine"
    assert pictures.path(1) is None
    os.remove(gallery / "extraction.json")   # the release's features: its collections share their images
    assert Pictures(["IMG_0002"], picture_folders(str(root), str(gallery))).count == 1


def test_two_pictures_of_one_id_in_a_folder_are_reported(tmp_path):
    """Photos of two years, each with its camera's IMG_0001.jpg: one was shown, and nothing said which."""
    root, photos = tmp_path / "R", tmp_path / "photos"
    for path, data in ((photos / "2019", b"2019"), (photos / "2020", b"2020"),
                       (root / "other" / "ImageData", b"another collection's: not a repeat")):
        write(str(path / "IMG_0001.jpg"), data)
    gallery = root / "other" / "FeatureData" / "feat"
    os.makedirs(gallery)
    pictures = Pictures(["IMG_0001"], picture_folders(str(root), str(gallery), images=[str(photos)]))
    assert open_checked(*pictures.path(0)[:2])[0].read() == b"2019"
    assert "; 1 more picture(s) of an id in the same folder, not shown (the first by path is shown; e.g. " \
           f"{photos / '2020' / 'IMG_0001.jpg'}, of IMG_0001: rename it)" in pictures.summary()
